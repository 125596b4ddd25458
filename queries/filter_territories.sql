-- filter_territories: the territorial directions for the sidebar, in id order.
select territory_id, name_ru, name_en
from territories
order by territory_id
