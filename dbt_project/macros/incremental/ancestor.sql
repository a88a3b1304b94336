{#- The relation of model `model_name` (or of source `source_name`.`table_name`), which must
    already be upstream of the calling model.

    The touched-key macros read staging models and raw orders that are ancestors of their callers.
    Reading them with ref()/source() would add direct edges that change nothing in the build
    order, make every unit test mock them although they only matter in incremental runs, and need
    `-- depends_on:` hints. This resolves the relation from the graph instead and fails the
    compilation if it is not upstream, so no dependency can hide here. -#}
{% macro ancestor(model_name) -%}
    {%- if not execute -%}{{ return(model_name) }}{%- endif -%}
    {{ return(_upstream_relation(model_name, graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
                                                                  | selectattr('name', 'equalto', model_name))) }}
{%- endmacro %}

{% macro ancestor_source(source_name, table_name) -%}
    {%- if not execute -%}{{ return(source_name ~ '.' ~ table_name) }}{%- endif -%}
    {{ return(_upstream_relation(source_name ~ '.' ~ table_name,
                                 graph.sources.values() | selectattr('source_name', 'equalto', source_name)
                                                        | selectattr('name', 'equalto', table_name))) }}
{%- endmacro %}

{% macro _upstream_relation(name, candidates) -%}
    {%- set matches = candidates | list -%}
    {%- if matches | length != 1 -%}
        {{ exceptions.raise_compiler_error("ancestor(): nothing named " ~ name) }}
    {%- endif -%}
    {%- set node = matches[0] -%}
    {%- if not _is_upstream(node.unique_id, ((model or {}).get('depends_on') or {}).get('nodes') or []) -%}
        {{ exceptions.raise_compiler_error("ancestor(): " ~ name ~ " is not upstream of " ~ this ~ "; ref() it instead") }}
    {%- endif -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema,
                                  identifier=node.get('identifier') or node.alias or node.name)) }}
{%- endmacro %}

{% macro _is_upstream(unique_id, node_ids) -%}
    {%- for node_id in node_ids -%}
        {%- set node = graph.nodes.get(node_id) -%}
        {%- if node_id == unique_id or (node is not none and _is_upstream(unique_id, node.depends_on.nodes)) -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}
