"""`LocalTimeStamper`: the platform's time-stamping authority plugged into pyHanko in-process.

Imported through `khutwa.trust.tsa` (`from khutwa.trust.tsa import LocalTimeStamper`), which
loads this module, and so pyHanko, only on first use.
"""

from __future__ import annotations

from asn1crypto import tsp
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError

from khutwa.trust.tsa import TimestampAuthority, _TimeStampResp

__all__ = ["LocalTimeStamper"]


class LocalTimeStamper(TimeStamper):
    """A pyHanko time stamper that asks a `TimestampAuthority` in this process: the request
    and the response go through their DER encoding, exactly as over HTTP."""

    def __init__(self, authority: TimestampAuthority) -> None:
        super().__init__(include_nonce=True)
        self.authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        response = self.authority.respond(req.dump())
        status = _TimeStampResp.load(response)["status"]
        if status["status"].native != "granted":  # asn1crypto's TimeStampResp cannot hold this
            text = "; ".join(status["status_string"].native or [])
            raise TimestampRequestError(f"the time-stamping authority refused: {text}")
        return tsp.TimeStampResp.load(response)
