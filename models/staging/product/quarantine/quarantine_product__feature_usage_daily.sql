{{ quarantine_raw_rows(
    'product',
    'feature_usage_daily',
    ref('base_product__feature_usage_daily'),
) }}
