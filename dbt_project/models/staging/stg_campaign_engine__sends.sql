{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail'
    )
}}

-- One row per reminder (message_id). A repeated send line is the same reminder: the first one
-- loaded is kept, so a later copy never changes a reminder already built.
-- Incremental (docs/decisions.md, "Staging tables"): a run reads the raw batches loaded since
-- the last one; a reminder already here was loaded first, so only new message_ids are added.
{% set source_rows -%}
    (
        select
            message_id, campaign_id, user_id, order_form_id, template, language, sent_at,
            checkout_items, _batch_id, _file, _line_number
        from {{ source('raw', 'sends') }}
        {% if is_incremental() -%} where {{ in_new_batches() }} {%- endif %}
    )
{%- endset %}

with first_copies as (

    {{ first_copies(source_rows, ['message_id']) }}

)

select
    message_id,
    campaign_id,
    user_id,
    {{ normalize_order_form_id('order_form_id') }} as order_form_id,
    template as template_name,
    language,
    sent_at,
    checkout_items,
    _batch_id
from first_copies
{% if is_incremental() -%}
where not exists (
    select 1 from {{ this }} as absorbed
    where absorbed.message_id is not distinct from first_copies.message_id
)
{%- endif %}
