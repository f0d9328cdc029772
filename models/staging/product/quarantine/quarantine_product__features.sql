{{ quarantine_raw_rows('product', 'features', ref('base_product__features')) }}
