"""Late-payment features (spec section 4): four retail extracts -> typed staging -> line fact
-> `late_payments.invoice_features`."""
