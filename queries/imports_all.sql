-- imports_all: every import into this database (issue #10), newest first.
select import_id, started_at, profile, files, rows_read, loaded, rejected, inserted, updated, unchanged,
       kept_newer, as_of, as_of_source
from imports
order by import_id desc
