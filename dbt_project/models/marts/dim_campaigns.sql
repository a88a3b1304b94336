-- One row per campaign as it is now (docs/spec.md section 3): the current version of dim_campaigns_history.
with history as (

    select * from {{ ref('dim_campaigns_history') }}

),

lifetimes as (

    select
        campaign_id,
        coalesce(min(case when change_type = 'created' then valid_from end), min(valid_from)) as created_at,
        max(valid_from) as updated_at
    from history
    group by campaign_id

)

select
    history.campaign_id,
    history.name,
    history.language,
    history.message_type,
    history.currency,
    history.status,
    lifetimes.created_at,
    lifetimes.updated_at
from history
inner join lifetimes on lifetimes.campaign_id = history.campaign_id
where history.is_current
