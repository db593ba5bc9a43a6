"""core: what every room may use — refusals and their HTTP statuses, the value limits, signatures,
the large-request gate, the access log."""
