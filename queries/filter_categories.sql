-- filter_categories: request categories with their normative deadlines.
select category_id, name_ru, name_en, normative_hours, normative_workdays, is_emergency
from categories
order by category_id
