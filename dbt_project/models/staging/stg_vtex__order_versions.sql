-- An incremental run replaces the versions that arrive again.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_rows',
        replaced_rows={'key': ['order_id', 'last_changed_at'], 'touched_keys': 'order_versions_in_new_batches'},
        on_schema_change='fail'
    )
}}

-- One row per version of a VTEX order (order_id, last_changed_at). An order is re-sent whenever
-- it changes; the same version delivered twice is kept once (the last copy loaded).
-- Incremental (docs/decisions.md, "Staging tables"): the versions of the new raw batches
-- replace the copies of the same versions already here (replaced_rows: the versions arriving in
-- them), as the new batches hold the later copies.
{% set source_rows -%}
    (
        select
            order_id, order_group, sequence, order_form_id, status, creation_date, last_change,
            value, client_profile_data, store_preferences_data, items, _batch_id, _file, _line_number
        from {{ source('raw', 'orders') }}
        {% if is_incremental() -%} where {{ in_new_batches() }} {%- endif %}
    )
{%- endset %}

with last_copies as (

    {{ first_copies(source_rows, ['order_id', 'last_change'],
                    copy_order='_batch_id desc, _file desc, _line_number desc') }}

)

select
    order_id,
    nullif(order_group, '') as order_group,
    sequence as order_sequence,
    {{ normalize_order_form_id('order_form_id') }} as order_form_id,
    lower(status) as status,
    creation_date as created_at,
    last_change as last_changed_at,
    value as value_cents,
    {{ json_text('client_profile_data', '$.userProfileId') }} as user_id,
    {{ json_text('store_preferences_data', '$.currencyCode') }} as currency,
    items,
    _batch_id
from last_copies
