-- municipality_current: every municipality, current or historical, with the current one it rolls
-- up to (an event recorded for Krasnoarmeysk concerns today's Pushkinsky okrug on the map).
select municipality_id, current_id, territory_id
from municipality_rollup
