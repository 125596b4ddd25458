-- closed_sources: the sources of closed requests, sorted (the median index numbers them by position).
select distinct source
from ticket_facts
where closed_at is not null and source is not null
order by source
