// Scan a document's QR code with the phone's camera and put its content in a field.
// <button data-qr-scan="FIELD_ID" data-qr-busy="…" data-qr-done="…" data-qr-none="…">
// The content is the document's verification URL; the server resolves it like a typed one.
(function () {
  "use strict";

  function say(button, text) {
    var status = document.getElementById(button.dataset.qrScan + "-scan-status");
    if (status) status.textContent = text;
  }

  function put(button, field, content) {
    if (button.dataset.qrMode === "append") {
      var lines = field.value.split("\n").filter(function (l) { return l.trim() !== ""; });
      if (lines.indexOf(content) === -1) lines.push(content);
      field.value = lines.join("\n");
    } else {
      field.value = content;
    }
    field.dispatchEvent(new Event("change", { bubbles: true }));
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function scan(button) {
    var field = document.getElementById(button.dataset.qrScan);
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof jsQR !== "function") {
      say(button, button.dataset.qrNone);
      return;
    }
    var video = document.createElement("video");
    video.setAttribute("playsinline", "");
    video.muted = true;
    video.className = "w-100 rounded border my-2";
    button.insertAdjacentElement("afterend", video);
    var canvas = document.createElement("canvas");
    var context = canvas.getContext("2d", { willReadFrequently: true });
    button.disabled = true;
    say(button, button.dataset.qrBusy);
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (stream) {
        video.srcObject = stream;
        video.play();
        var started = Date.now();
        function stop() {
          stream.getTracks().forEach(function (t) { t.stop(); });
          video.remove();
          button.disabled = false;
        }
        function frame() {
          if (Date.now() - started > 60000) { stop(); say(button, button.dataset.qrNone); return; }
          if (video.readyState >= 2 && video.videoWidth) {
            canvas.width = video.videoWidth;
            canvas.height = video.videoHeight;
            context.drawImage(video, 0, 0);
            var image = context.getImageData(0, 0, canvas.width, canvas.height);
            var code = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
            if (code && code.data) {
              stop();
              put(button, field, code.data);
              say(button, button.dataset.qrDone);
              return;
            }
          }
          requestAnimationFrame(frame);
        }
        requestAnimationFrame(frame);
      })
      .catch(function () {
        video.remove();
        button.disabled = false;
        say(button, button.dataset.qrNone);
      });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-qr-scan]");
    if (button) {
      event.preventDefault();
      scan(button);
    }
  });
})();
