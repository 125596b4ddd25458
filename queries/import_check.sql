-- import_check: every row of one file checked, typed and given the first reason it cannot be
-- loaded, or none. Reads the view `staged`: our fields as the file wrote them, straight from the file,
-- the file's own columns c1…cN, and for Open311 the dates without their UTC offsets
-- (<field>_offset_free, made by oversight.importer only for a profile that needs it: a regular
-- expression per date is the dearest part of the checks). A select: oversight.importer appends its
-- rows to the temp table `checked` file by file, in file order (checked.rowid follows the records);
-- the raw row is kept only for a row refused here. Nothing here may join: a join gives up the rows'
-- order (oversight.importer checks the plan).
--
-- Values count as nullif(trim(x), ''), but trim() copies every string it is given, and at ten
-- million rows that was a quarter of the checks. So only what is kept as it is gets trimmed here (the
-- number, the text, the source); the rest is trimmed only where it must be:
-- - statuses and municipalities are looked up as written among the file's distinct values, which
--   oversight.importer trimmed and matched in Python ($status_values, $status_states, $status_blank,
--   $municipality_values, $municipality_ids, $municipality_names, $municipality_blank; a few hundred
--   at most; a missing value is looked up as '');
-- - dates and numbers are parsed as written, and again trimmed only when that fails;
-- - organisation, INN, address and category are kept as written ('' as null): oversight.importer
--   trims them over their distinct values when it matches them to the reference data. A category of
--   spaces only is missing: 32, 160, … are the characters trim() removes (importer.SPACES).
-- Other inputs: $blocked (the file lacks a required column: all its rows refused), $check_encoding
-- (the file had bytes its encoding has no character for), $formats (date
-- formats), $as_of, $latest_export (an export time after it is not one: the clock of the server
-- that imports, plus a day), $create_municipalities, $closed_from_updated (Open311: the update time of a
-- closed request is its closing time), $headers (the file's column names).
with cleaned as (
    select
        file_idx,
        columns('^c[0-9]+$'),  -- the file's columns, for the raw row of a refused one
        -- a byte the file's encoding had no character for (decoded as U+FFFD); folded away unless
        -- the file had one ($check_encoding)
        $check_encoding and strpos(concat_ws('', *columns('^c[0-9]+$')), chr(65533)) > 0 as undecodable,
        nullif(trim(number), '') as number,
        created as created_written,
        deadline as deadline_written,
        closed as closed_written,
        created_offset_free,
        deadline_offset_free,
        closed_offset_free,
        -- Looked up in lists, not joined (see above).
        list_position($status_values, coalesce(status, '')) as status_at,
        list_position($municipality_values, coalesce(municipality, '')) as municipality_at,
        nullif(trim(territory), '') as territory_raw,
        nullif(organization, '') as organization_raw,
        nullif(trim(organization_name), '') as organization_name_raw,
        nullif(inn, '') as inn_raw,
        nullif(address, '') as address_raw,
        nullif(category, '') as category_raw,
        nullif(trim(source), '') as source_raw,
        returns as returns_written,
        rating as rating_written,
        export_time as export_written,
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
        coalesce(try_strptime(coalesce(c.created_offset_free, c.created_written), $formats),
                 try_strptime(trim(c.created_written), $formats)) as created_at,
        coalesce(try_strptime(coalesce(c.deadline_offset_free, c.deadline_written), $formats),
                 try_strptime(trim(c.deadline_written), $formats)) as due_at,
        coalesce(try_strptime(coalesce(c.closed_offset_free, c.closed_written), $formats),
                 try_strptime(trim(c.closed_written), $formats)) as closed_given,
        $status_states[c.status_at] as state,
        $status_blank[c.status_at] as status_blank,
        $municipality_ids[c.municipality_at]::integer as municipality_id,
        $municipality_blank[c.municipality_at] as municipality_blank,
        coalesce(try_cast(c.rating_written as integer), try_cast(trim(c.rating_written) as integer)) as rating,
        coalesce(try_cast(c.returns_written as integer), try_cast(trim(c.returns_written) as integer)) as returned_count,
        try_strptime(trim(c.export_written), $formats) as export_at
    from cleaned as c
),

dated as (
    select
        *,
        case
            when closed_from_updated and state = 'open' then null  -- an open request's update is not a closing
            else closed_given
        end as closed_at,
        -- the name of a municipality not in the database, for one to be created (a few rows at most,
        -- unless the profile creates municipalities)
        case when municipality_id is null then $municipality_names[municipality_at] end as municipality_raw
    from (select *, $closed_from_updated::boolean as closed_from_updated from typed)
),

invariants as (
    select *, ticket_date_problem(created_at, due_at, closed_at, $as_of::timestamp) as date_problem
    from dated
),

reasoned as (
    select
        *,
        case
            when $blocked then 'missing_column'
            -- a byte the file's encoding has no character for ($check_encoding: the file has one)
            when undecodable then 'bad_encoding'
            when number is null then 'missing:number'
            when created_at is null and nullif(trim(created_written), '') is null then 'missing:created'
            when created_at is null then 'bad_date:created'
            when due_at is null and nullif(trim(deadline_written), '') is not null then 'bad_date:deadline'
            when closed_given is null and nullif(trim(closed_written), '') is not null then 'bad_date:closed'
            -- the database's own date invariants (queries/_invariants.sql): one list for both
            when date_problem is not null then date_problem
            when export_at > $latest_export::timestamp or export_at < timestamp '2000-01-01' then 'implausible:export_time'
            when not status_blank and state is null then 'unknown_status'
            when state = 'closed' and closed_at is null then 'closed_without_date'
            when municipality_blank then 'missing:municipality'
            when municipality_id is null and not $create_municipalities::boolean then 'unknown_municipality'
            when category_raw is null
                -- its first character one that trim() removes (compared one by one: DuckDB makes an IN
                -- list, or list_contains over a constant list, a join)
                or ((ascii(category_raw) = 32 or ascii(category_raw) = 160 or ascii(category_raw) = 5760
                     or ascii(category_raw) between 8192 and 8202 or ascii(category_raw) = 8239
                     or ascii(category_raw) = 8287 or ascii(category_raw) = 12288)
                    and trim(category_raw) = '') then 'missing:category'
            when rating not between 1 and 5
                or (rating is null and nullif(trim(rating_written), '') is not null) then 'bad_rating'
            when returned_count < 0
                or (returned_count is null and nullif(trim(returns_written), '') is not null) then 'bad_returns'
        end as reason,
        case
            when length(number) <= 18 and try_cast(number as ubigint)::varchar = number then number::bigint
            else (hash(number) >> 1)::bigint  -- a stable id for a number that is not one
        end as ticket_id
    from invariants
),

flagged as (
    select *, reason is not null as refused
    from reasoned
)

select
    columns(lambda c: not regexp_full_match(c, 'c[0-9]+') and c not in (
        'created_written', 'deadline_written', 'closed_written', 'created_offset_free', 'deadline_offset_free',
        'closed_offset_free', 'status_at', 'municipality_at', 'status_blank', 'municipality_blank',
        'returns_written', 'rating_written', 'closed_given', 'closed_from_updated', 'refused', 'date_problem',
        'export_written', 'export_at', 'undecodable')),
    -- the refused row as JSON with the file's headers ($headers), made only for a refused row
    case when refused then to_json(map($headers, list_value(*columns('^c[0-9]+$'))))::varchar end as raw
from flagged
