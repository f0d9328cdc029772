{{ quarantine_raw_rows('product', 'users', ref('base_product__users')) }}
