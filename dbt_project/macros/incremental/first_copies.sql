{#- Deduplication for the staging tables: one row per key of `rows`, the copy that comes first
    in `copy_order` (the first copy loaded: `_batch_id, _file, _line_number`; the last copy
    loaded: the same, descending).

    `rows` is a relation or a parenthesised subquery with the key columns and the columns of
    `copy_order`. Returns a SELECT of its columns plus `copy_number` (always 1): the same rows as

        select * from (
            select *, row_number() over (partition by <keys> order by <copy_order>) as copy_number
            from <rows>
        ) where copy_number = 1

    but cheaper: duplicates are rare (a re-sent webhook, a re-delivered file), and ranking every
    row sorts the whole input by key, whereas finding the repeated keys is one hash aggregate.
    So the rows of keys seen once pass straight through, and only the rows of repeated keys are
    ranked. The repeated keys are found by a fingerprint of the key (key_fingerprint()): two
    copies of a key always share it, so no duplicate can slip through; a key that merely shares
    the fingerprint of a repeated one is ranked alone, i.e. kept. Nulls compare equal, as in
    `partition by`. -#}
{% macro first_copies(rows, key_columns, copy_order='_batch_id, _file, _line_number') -%}
    {%- set fingerprint = key_fingerprint(key_columns, 'keyed') -%}
    {%- set repeated_keys -%}
        select
            {%- for part in fingerprint %} {{ part }} as fingerprint_{{ loop.index }},{% endfor %}
            1 as is_repeated
        from {{ rows }} as keyed
        group by {% for part in fingerprint %}{{ part }}{{ ', ' if not loop.last }}{% endfor %}
        having count(*) > 1
    {%- endset -%}
    {#- Joins, not correlated EXISTS: DuckDB would decorrelate those through a copy of every row. -#}
    {%- set join_repeated -%}
        ({{ repeated_keys }}) as repeated
        on {% for part in key_fingerprint(key_columns, 'copies') -%}
            repeated.fingerprint_{{ loop.index }} is not distinct from {{ part }}{{ ' and ' if not loop.last }}
        {%- endfor %}
    {%- endset -%}
    select copies.*, cast(1 as {{ dbt.type_bigint() }}) as copy_number
    from {{ rows }} as copies
    left join {{ join_repeated }}
    where repeated.is_repeated is null
    union all
    select *
    from (
        select
            copies.*,
            row_number() over (partition by {{ key_columns | join(', ') }} order by {{ copy_order }}) as copy_number
        from {{ rows }} as copies
        inner join {{ join_repeated }}
    ) as ranked
    where copy_number = 1
{%- endmacro %}

{#- Expressions equal for equal keys (nulls included), to find the repeated keys with: the key
    columns themselves; in DuckDB one 64-bit hash of them, much cheaper to group by. -#}
{% macro key_fingerprint(key_columns, alias) -%}
    {{ return(adapter.dispatch('key_fingerprint', 'campaigns')(key_columns, alias)) }}
{%- endmacro %}

{% macro default__key_fingerprint(key_columns, alias) -%}
    {%- set parts = [] -%}
    {%- for key in key_columns -%}{%- do parts.append(alias ~ '.' ~ key) -%}{%- endfor -%}
    {{ return(parts) }}
{%- endmacro %}

{% macro duckdb__key_fingerprint(key_columns, alias) -%}
    {%- set parts = [] -%}
    {%- for key in key_columns -%}{%- do parts.append(alias ~ '.' ~ key) -%}{%- endfor -%}
    {{ return(['hash(' ~ parts | join(', ') ~ ')']) }}
{%- endmacro %}
