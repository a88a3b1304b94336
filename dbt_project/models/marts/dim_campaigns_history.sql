-- Every version of every campaign (SCD type 2): a new version at each admin event, valid from
-- the event until the next one (valid_to null: the current version). `edited` changes only the
-- fields it carries; `paused` and `resumed` change the status.
with events as (

    select
        *,
        row_number() over (
            partition by campaign_id
            -- Two events at the same instant: creation first, then load order.
            order by occurred_at, case when event_type = 'created' then 0 else 1 end,
                _batch_id, _file, _line_number
        ) as version
    from {{ ref('stg_campaign_admin__campaign_events') }}

),

versions as (

    select
        campaign_id,
        version,
        event_type as change_type,
        occurred_at as valid_from,
        lead(occurred_at) over (partition by campaign_id order by version) as valid_to,
        {{ last_value_ignoring_nulls('name') }} over carried as name,
        {{ last_value_ignoring_nulls('language') }} over carried as language,
        {{ last_value_ignoring_nulls('message_type') }} over carried as message_type,
        {{ last_value_ignoring_nulls('currency') }} over carried as currency,
        coalesce(
            {{ last_value_ignoring_nulls("case
                    when event_type = 'paused' then 'paused'
                    when event_type in ('created', 'resumed') then 'active'
                end") }} over carried,
            'active'
        ) as status
    from events
    window carried as (
        partition by campaign_id order by version rows between unbounded preceding and current row
    )

)

select
    campaign_id,
    cast(version as {{ dbt.type_bigint() }}) as version,
    change_type,
    name,
    language,
    message_type,
    currency,
    status,
    valid_from,
    valid_to,
    valid_to is null as is_current
from versions
