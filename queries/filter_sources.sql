-- filter_sources: the distinct request sources present in the data (eds, dobrodel, phone, ...).
select distinct source
from tickets
order by source
