-- import_record_rejects: every refused row of an import into import_rejects, in SQL so that a file
-- with millions of refused rows (a wrong profile, a changed date format) costs no Python memory.
-- Inputs: temp tables checked (the checked rows; rowid in file order), file_starts(file_idx, start),
-- structural (lines DuckDB could not parse: file_idx, line, csv_line, error_type),
-- import_files_in(file_idx, file, missing), and exact_lines(file_idx, record, line) and
-- malformed_lines(file_idx, duck_line, line): the physical lines of a file whose records are not one
-- line each (oversight.importer._line_numbers), preferred to the count below; $import_id.
-- A parsed record's line: the header is line 1, and the r-th record (from 0) comes after every
-- malformed line that has at most r records before it. For the k-th malformed line (from 1) at line
-- b, the records before it are b - 2 - (k - 1); an ASOF join finds the last such line.
insert into import_rejects (import_id, file, line, raw, reason_code, detail)
with malformed as (
    select
        file_idx,
        line,
        csv_line,
        error_type,
        row_number() over (partition by file_idx order by line) as k
    from structural
),

shifts as (
    select file_idx, line - 1 - k as records_before, max(k) as k
    from malformed
    group by all
),

refused as (
    select c.file_idx, c.rowid - s.start as record, c.raw, c.reason
    from checked as c
    join file_starts as s on s.file_idx = c.file_idx
    where c.reason is not null
)

select
    $import_id,
    f.file,
    coalesce(el.line, r.record + 2 + coalesce(sh.k, 0)),
    r.raw,
    r.reason,
    case when r.reason = 'missing_column' then f.missing end
from refused as r
join import_files_in as f on f.file_idx = r.file_idx
asof left join shifts as sh on sh.file_idx = r.file_idx and r.record >= sh.records_before
left join exact_lines as el on el.file_idx = r.file_idx and el.record = r.record
union all
select $import_id, f.file, coalesce(ml.line, m.line), m.csv_line, 'malformed_line', m.error_type
from malformed as m
join import_files_in as f on f.file_idx = m.file_idx
left join malformed_lines as ml on ml.file_idx = m.file_idx and ml.duck_line = m.line
