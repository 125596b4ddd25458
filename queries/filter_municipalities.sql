-- filter_municipalities: current municipalities (historical ones roll up into these), with their
-- direction, population and centroid, ordered by Russian name.
select municipality_id, name_ru, name_en, territory_id, population, lat, lon
from municipalities
where successor_id is null
order by name_ru
