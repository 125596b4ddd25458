-- import_check: every row of one file checked, typed and given the first reason it cannot be
-- loaded, or none. Reads the view `staged`: our fields as the file wrote them, straight from the file,
-- the file's own columns c1…cN, and for Open311 the dates without their UTC offsets
-- (<field>_offset_free, made by oversight.importer only for a profile that needs it: a regular
-- expression per date is the dearest part of the checks). A select: oversight.importer appends its
-- rows to the temp table `checked` file by file, in file order (checked.rowid follows the records);
-- the raw row is kept only for a row refused here. Other inputs: the distinct statuses and
-- municipalities as written and what they were matched to in Python ($status_values, $status_states,
-- $municipality_values, $municipality_ids; a few hundred at most), $blocked (the file lacks a
-- required column: all its rows refused), $formats (date formats), $as_of, $default_municipality,
-- $create_municipalities, $closed_from_updated (Open311: the update time of a closed request is its
-- closing time), $headers (the file's column names).
with cleaned as (
    select
        file_idx,
        columns('^c[0-9]+$'),  -- the file's columns, for the raw row of a refused one
        nullif(trim(number), '') as number,
        nullif(trim(created), '') as created_raw,
        nullif(trim(deadline), '') as deadline_raw,
        nullif(trim(closed), '') as closed_raw,
        created_offset_free,
        deadline_offset_free,
        closed_offset_free,
        nullif(trim(status), '') as status_raw,
        nullif(trim(territory), '') as territory_raw,
        coalesce(nullif(trim(municipality), ''), nullif($default_municipality, '')) as municipality_raw,
        nullif(trim(organization), '') as organization_raw,
        nullif(trim(organization_name), '') as organization_name_raw,
        nullif(trim(inn), '') as inn_raw,
        nullif(trim(address), '') as address_raw,
        nullif(trim(category), '') as category_raw,
        nullif(trim(source), '') as source_raw,
        nullif(trim(returns), '') as returns_raw,
        nullif(trim(rating), '') as rating_raw,
        nullif(trim(text), '') as text_raw,
        try_cast(replace(nullif(trim(lat), ''), ',', '.') as double) as lat,
        try_cast(replace(nullif(trim(lon), ''), ',', '.') as double) as lon
    from staged
),

typed as (
    select
        c.*,
        -- <field>_offset_free: (Open311) the value without its UTC offset or trailing Z, null otherwise:
        -- times stay the local time written.
        try_strptime(coalesce(c.created_offset_free, c.created_raw), $formats) as created_at,
        try_strptime(coalesce(c.deadline_offset_free, c.deadline_raw), $formats) as due_at,
        try_strptime(coalesce(c.closed_offset_free, c.closed_raw), $formats) as closed_given,
        -- Looked up in lists, not joined: a join would give up the file order of the rows, which
        -- oversight.importer relies on (checked.rowid is the record number).
        $status_states[list_position($status_values, c.status_raw)] as state,
        $municipality_ids[list_position($municipality_values, c.municipality_raw)]::integer as municipality_id,
        try_cast(c.rating_raw as integer) as rating,
        try_cast(c.returns_raw as integer) as returned_count
    from cleaned as c
),

dated as (
    select
        *,
        case
            when closed_from_updated and state = 'open' then null  -- an open request's update is not a closing
            else closed_given
        end as closed_at
    from (select *, $closed_from_updated::boolean as closed_from_updated from typed)
),

reasoned as (
    select
        *,
        case
            when $blocked then 'missing_column'
            when number is null then 'missing:number'
            when created_raw is null then 'missing:created'
            when created_at is null then 'bad_date:created'
            when deadline_raw is not null and due_at is null then 'bad_date:deadline'
            when closed_raw is not null and closed_given is null then 'bad_date:closed'
            when due_at < created_at then 'deadline_before_created'
            when closed_at < created_at then 'closed_before_created'
            when created_at >= $as_of::timestamp then 'future:created'
            when closed_at >= $as_of::timestamp then 'future:closed'
            when status_raw is not null and state is null then 'unknown_status'
            when state = 'closed' and closed_at is null then 'closed_without_date'
            when municipality_raw is null then 'missing:municipality'
            when municipality_id is null and not $create_municipalities::boolean then 'unknown_municipality'
            when category_raw is null then 'missing:category'
            when rating_raw is not null and (rating is null or rating not between 1 and 5) then 'bad_rating'
            when returns_raw is not null and (returned_count is null or returned_count < 0) then 'bad_returns'
        end as reason,
        case
            when length(number) <= 18 and try_cast(number as ubigint)::varchar = number then number::bigint
            else (hash(number) >> 1)::bigint  -- a stable id for a number that is not one
        end as ticket_id
    from dated
),

flagged as (
    select *, reason is not null as refused
    from reasoned
)

select
    columns(lambda c: not regexp_full_match(c, 'c[0-9]+') and c not in (
        'status_raw', 'created_raw', 'deadline_raw', 'closed_raw', 'created_offset_free', 'deadline_offset_free',
        'closed_offset_free', 'returns_raw', 'rating_raw', 'closed_given',
        'closed_from_updated', 'refused')),
    -- the refused row as JSON with the file's headers ($headers), made only for a refused row
    case when refused then to_json(map($headers, list_value(*columns('^c[0-9]+$'))))::varchar end as raw
from flagged
