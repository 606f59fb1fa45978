# Amounts on fee and contract pages are grouped by thousands (15,000.00), as on Chinese invoices
# and government portals; Django's zh_Hans locale leaves them ungrouped.
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
