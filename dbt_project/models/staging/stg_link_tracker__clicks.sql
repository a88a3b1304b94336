{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail'
    )
}}

-- One row per click_id of the link tracker: a repeated click_id is the same click, the first
-- copy loaded is kept. Incremental like the sends: new click_ids of the new raw batches.
{% set source_rows -%}
    (
        select click_id, message_id, clicked_at, url, _batch_id, _file, _line_number
        from {{ source('raw', 'clicks') }}
        {% if is_incremental() -%} where {{ in_new_batches() }} {%- endif %}
    )
{%- endset %}

with first_copies as (

    {{ first_copies(source_rows, ['click_id']) }}

)

select
    click_id,
    message_id,
    clicked_at,
    url,
    _batch_id
from first_copies
{% if is_incremental() -%}
where not exists (
    select 1 from {{ this }} as absorbed
    where absorbed.click_id is not distinct from first_copies.click_id
)
{%- endif %}
