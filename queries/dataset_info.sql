-- dataset_info: the one row describing the data (as_of, source, is_demo, loaded_at, and the country
-- whose calendar labels its days).
select as_of, source, is_demo, loaded_at, calendar
from dataset
limit 1
