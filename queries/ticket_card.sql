-- ticket_card: one request with everything its card shows (the text is masked by the app).
select
    t.ticket_id,
    t.source,
    t.created_at,
    t.due_at,
    t.closed_at,
    t.status,
    t.returned_count,
    t.rating,
    t.description,
    t.category_id,
    c.name_ru as category_ru,
    c.name_en as category_en,
    c.normative_hours,
    c.normative_workdays,
    t.building_id,
    b.address,
    t.organization_id,
    o.name as organization_name,
    o.inn,
    r.current_id as municipality_id,
    m.name_ru as municipality_ru,
    m.name_en as municipality_en,
    r.territory_id
from tickets as t
left join categories as c on c.category_id = t.category_id
left join buildings as b on b.building_id = t.building_id
left join organizations as o on o.organization_id = t.organization_id
left join municipality_rollup as r on r.municipality_id = t.municipality_id
left join municipalities as m on m.municipality_id = r.current_id
where t.ticket_id = $ticket_id
