-- data_range: the first and last request creation moments in the data (bounds for the period picker).
select min(created_at) as first_created, max(created_at) as last_created, count(*) as tickets
from tickets
