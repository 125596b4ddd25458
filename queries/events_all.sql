-- events_all: the events register (seminars, inspections, orders, fines, other), newest first.
select event_id, event_date, kind, title, municipality_id, organization_id
from events
order by event_date desc, event_id
