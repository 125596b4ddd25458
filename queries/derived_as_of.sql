-- derived_as_of: the as_of the derived tables (daily_counts) were built for.
select max(as_of) as as_of
from derived_info
