{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail'
    )
}}

-- One row per distinct status event (message, status, time). Webhooks are at-least-once: the
-- same status may arrive twice, in one body or another file; the first copy loaded is kept.
-- Incremental like the sends: the new raw batches' statuses not already here.
{% set source_rows -%}
    (
        select message_id, lower(status) as status, status_at, errors, _batch_id, _file, _line_number
        from {{ source('raw', 'whatsapp_statuses') }}
        {% if is_incremental() -%} where {{ in_new_batches() }} {%- endif %}
    )
{%- endset %}

with first_copies as (

    {{ first_copies(source_rows, ['message_id', 'status', 'status_at']) }}

)

select
    message_id,
    status,
    status_at,
    {{ dbt.safe_cast(json_text('errors', '$[0].code'), dbt.type_bigint()) }} as error_code,
    {{ json_text('errors', '$[0].title') }} as error_title,
    _batch_id
from first_copies
{% if is_incremental() -%}
where not exists (
    select 1 from {{ this }} as absorbed
    where absorbed.message_id is not distinct from first_copies.message_id
        and absorbed.status is not distinct from first_copies.status
        and absorbed.status_at is not distinct from first_copies.status_at
)
{%- endif %}
