-- closed_resolutions: every closed request's closing day (days since 1970-01-01), direction,
-- current municipality, category, source and resolution time in microseconds: the input of
-- oversight.medians. Every column a non-null integer (a missing id is 0; the source is its 0-based
-- position in $sources, the sorted list closed_sources gives), so the result converts to numpy
-- arrays without pandas.
select
    date_diff('day', date '1970-01-01', closed_at::date)::integer as closed_day,
    coalesce(territory_id, 0)::integer as territory_id,
    coalesce(current_municipality_id, 0)::integer as current_municipality_id,
    coalesce(category_id, 0)::integer as category_id,
    coalesce(list_position($sources, source), 1)::integer - 1 as source_code,
    resolution_us
from ticket_facts
where closed_at is not null
