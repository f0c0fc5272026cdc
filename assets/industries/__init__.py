"""Industry change scores (spec section 3): order stream + customer batches → top industries."""
