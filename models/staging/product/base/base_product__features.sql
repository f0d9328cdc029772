{{ stage_raw_table('product', 'features') }}
