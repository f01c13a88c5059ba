# Money in BHD is written with a decimal point on Arabic pages too: Django's Arabic default
# (a comma) turns 150.000 dinars into "150,000", which reads as a hundred and fifty thousand.
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
