-- closed_resolutions: every closed request's closing day (days since 1970-01-01), direction,
-- current municipality, category, source and resolution time in microseconds: the input of
-- oversight.medians.
select
    date_diff('day', date '1970-01-01', closed_at::date) as closed_day,
    territory_id,
    current_municipality_id,
    category_id,
    source,
    resolution_us
from ticket_facts
where closed_at is not null
