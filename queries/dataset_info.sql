-- dataset_info: the one row describing the data (as_of, source, is_demo, loaded_at).
select as_of, source, is_demo, loaded_at
from dataset
limit 1
