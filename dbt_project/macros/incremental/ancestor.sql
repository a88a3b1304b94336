{#- The relation of model `model_name`, which must already be upstream of the calling model.

    The touched-key macros read staging models that are ancestors of their callers through the
    intermediate models. Reading them with ref() would add direct edges that change nothing in
    the build order, make every unit test mock them although they only matter in incremental
    runs, and need `-- depends_on:` hints. This resolves the relation from the graph instead and
    fails the compilation if the model is not upstream, so no dependency can hide here. -#}
{% macro ancestor(model_name) -%}
    {%- if not execute -%}
        {{ return(model_name) }}
    {%- endif -%}
    {%- set matches = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
                                          | selectattr('name', 'equalto', model_name) | list -%}
    {%- if matches | length != 1 -%}
        {{ exceptions.raise_compiler_error("ancestor(): no model named " ~ model_name) }}
    {%- endif -%}
    {%- set node = matches[0] -%}
    {%- set parents = ((model or {}).get('depends_on') or {}).get('nodes') or [] -%}
    {%- if not _is_upstream(node.unique_id, parents) -%}
        {{ exceptions.raise_compiler_error("ancestor(): " ~ model_name ~ " is not upstream of "
                                           ~ this ~ "; ref() it instead") }}
    {%- endif -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema,
                                  identifier=node.alias or node.name)) }}
{%- endmacro %}

{% macro _is_upstream(unique_id, node_ids) -%}
    {%- for node_id in node_ids -%}
        {%- if node_id == unique_id -%}
            {{ return(true) }}
        {%- endif -%}
        {%- set node = graph.nodes.get(node_id) -%}
        {%- if node is not none and _is_upstream(unique_id, node.depends_on.nodes) -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}

{#- The relation of source table raw.<table_name>, which must be upstream of the calling model. -#}
{% macro ancestor_source(source_name, table_name) -%}
    {%- if not execute -%}
        {{ return(source_name ~ '.' ~ table_name) }}
    {%- endif -%}
    {%- set matches = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
                                            | selectattr('name', 'equalto', table_name) | list -%}
    {%- if matches | length != 1 -%}
        {{ exceptions.raise_compiler_error("ancestor_source(): no source " ~ source_name ~ "." ~ table_name) }}
    {%- endif -%}
    {%- set node = matches[0] -%}
    {%- set parents = ((model or {}).get('depends_on') or {}).get('nodes') or [] -%}
    {%- if not _is_upstream(node.unique_id, parents) -%}
        {{ exceptions.raise_compiler_error("ancestor_source(): " ~ source_name ~ "." ~ table_name
                                           ~ " is not upstream of " ~ this) }}
    {%- endif -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema,
                                  identifier=node.identifier)) }}
{%- endmacro %}
