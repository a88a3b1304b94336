{#- JSON access and the items JSON text of the marts, behind dispatch so another engine can
    bring its own functions. -#}

{#- The string at `path` (a JSONPath such as '$.id') of a JSON column; null when absent. -#}
{% macro json_text(json_column, path) -%}
    {{ return(adapter.dispatch('json_text', 'campaigns')(json_column, path)) }}
{%- endmacro %}

{% macro default__json_text(json_column, path) -%}
    json_extract_string({{ json_column }}, '{{ path }}')
{%- endmacro %}

{#- A JSON array of items (sends' checkout_items, VTEX order items) as a list of structs
    {id, name, quantity, price (cents), selling_price (cents)}. DuckDB 2.0 refuses the `x -> ...`
    lambda arrow: write `lambda x: ...`. -#}
{% macro items_list(items_json) -%}
    {{ return(adapter.dispatch('items_list', 'campaigns')(items_json)) }}
{%- endmacro %}

{% macro default__items_list(items_json) -%}
    list_transform(
        coalesce(
            from_json({{ items_json }}, '[{"id": "VARCHAR", "name": "VARCHAR", "quantity": "BIGINT", "price": "BIGINT", "sellingPrice": "BIGINT"}]'),
            []
        ),
        lambda item: struct_pack(
            id := item.id,
            name := item.name,
            quantity := item.quantity,
            price := item.price,
            selling_price := item.sellingPrice
        )
    )
{%- endmacro %}

{#- The items JSON text of the marts (docs/spec.md section 3): [{"id", "name", "quantity", "price"}] with
    `price` in currency units (4990 cents -> 49.9), taken from `price_field` of items_list(). -#}
{% macro items_json_text(items, price_field='price') -%}
    {{ return(adapter.dispatch('items_json_text', 'campaigns')(items, price_field)) }}
{%- endmacro %}

{% macro default__items_json_text(items, price_field) -%}
    cast(to_json(list_transform(
        coalesce({{ items }}, []),
        lambda item: struct_pack(
            id := item.id,
            name := item.name,
            quantity := item.quantity,
            price := item.{{ price_field }} / 100.0
        )
    )) as varchar)
{%- endmacro %}

{#- Sum of price x quantity over a list of items, in cents. -#}
{% macro items_cents(items, price_field) -%}
    {{ return(adapter.dispatch('items_cents', 'campaigns')(items, price_field)) }}
{%- endmacro %}

{% macro default__items_cents(items, price_field) -%}
    coalesce(list_sum(list_transform(
        coalesce({{ items }}, []),
        lambda item: item.{{ price_field }} * item.quantity
    )), 0)
{%- endmacro %}

{#- Aggregate: the concatenation of JSON array texts (as items_json_text() writes them), in
    `order_by` order, as one JSON array text. -#}
{% macro concat_json_arrays_agg(json_text, order_by) -%}
    {{ return(adapter.dispatch('concat_json_arrays_agg', 'campaigns')(json_text, order_by)) }}
{%- endmacro %}

{#- DuckDB's to_json() writes a list as its elements joined by ',' between brackets: the elements
    of several arrays are their texts without the brackets, joined the same way. -#}
{% macro default__concat_json_arrays_agg(json_text, order_by) -%}
    coalesce(
        '[' || string_agg(nullif(substr({{ json_text }}, 2, length({{ json_text }}) - 2), ''), ',' order by {{ order_by }}) || ']',
        '[]'
    )
{%- endmacro %}

{#- Spark: the same texts as DuckDB's. Spark's to_json drops null fields (unless told not to)
    and prints a double as 1.0E7 from ten million up, so `price` is written as DuckDB writes
    the double cents / 100.0: the exact decimal, trailing zeros dropped but one (49.9, 50.0). -#}
{% macro spark__json_text(json_column, path) -%}
    get_json_object({{ json_column }}, '{{ path }}')
{%- endmacro %}

{% macro spark__items_list(items_json) -%}
    transform(
        coalesce(
            from_json({{ items_json }}, 'array<struct<id: string, name: string, quantity: bigint, price: bigint, sellingPrice: bigint>>'),
            array()
        ),
        item -> named_struct(
            'id', item.id, 'name', item.name, 'quantity', item.quantity,
            'price', item.price, 'selling_price', item.sellingPrice
        )
    )
{%- endmacro %}

{% macro spark__items_json_text(items, price_field) -%}
    regexp_replace(
        to_json(
            transform(
                coalesce({{ items }}, array()),
                item -> named_struct(
                    'id', item.id, 'name', item.name, 'quantity', item.quantity,
                    'price', regexp_replace(regexp_replace(
                        cast(cast(cast(item.{{ price_field }} as decimal(38, 0)) / 100 as decimal(38, 2)) as string),
                        '0+$', ''), '[.]$', '.0')
                )
            ),
            map('ignoreNullFields', 'false')
        ),
        '"price":"(-?[0-9]+[.][0-9]+)"', '"price":$1'
    )
{%- endmacro %}

{% macro spark__items_cents(items, price_field) -%}
    aggregate(
        coalesce({{ items }}, array()),
        cast(0 as bigint),
        (total, item) -> total + coalesce(item.{{ price_field }} * item.quantity, 0)
    )
{%- endmacro %}

{#- Spark has no ordered string_agg: sort the (position, elements) pairs, then join. -#}
{% macro spark__concat_json_arrays_agg(json_text, order_by) -%}
    concat('[', concat_ws(',', transform(
        array_sort(collect_list(struct(
            {{ order_by }} as position,
            nullif(substr({{ json_text }}, 2, length({{ json_text }}) - 2), '') as elements
        ))),
        part -> part.elements
    )), ']')
{%- endmacro %}
