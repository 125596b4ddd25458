-- import_rejects_all: every row an import refused, with its file, line, reason and the raw row; at
-- most $limit (an Excel sheet holds 1,048,576 rows).
select import_id, file, line, reason_code, detail, raw
from import_rejects
order by import_id, file, line
limit $limit
