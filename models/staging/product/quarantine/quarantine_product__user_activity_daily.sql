{{ quarantine_raw_rows(
    'product',
    'user_activity_daily',
    ref('base_product__user_activity_daily'),
) }}
