-- import_duplicates: after import_check, the rows whose number appears more than once among the
-- rows that passed. Identical content is one request written twice: the copies after the first are
-- refused (duplicate_exact). Different content cannot be told apart: every such row is refused
-- (duplicate_conflict). Numbers that repeat are few, so only they are grouped by content, and only
-- their rows are updated. Content is a fingerprint of everything the request says (the municipality
-- by its id, or by its name when it is not in the database).
create or replace temp table repeated as
select
    ticket_id,
    -- organisation, INN, address and category as written: trimmed as the other fields were (spaces only
    -- are none, as an empty value is)
    count(distinct hash(created_at, due_at, closed_at, state, municipality_id, municipality_raw,
                        nullif(trim(organization_raw), ''), nullif(trim(inn_raw), ''), nullif(trim(address_raw), ''),
                        nullif(trim(category_raw), ''), returned_count, rating, text_raw)) as versions,
    min(rowid) as first_row
from checked
where reason is null
  and ticket_id in (
      select ticket_id
      from checked
      where reason is null
      group by ticket_id
      having count(*) > 1
  )
group by ticket_id;

update checked
set reason = case when r.versions > 1 then 'duplicate_conflict' else 'duplicate_exact' end
from repeated as r
where checked.ticket_id = r.ticket_id
  and checked.reason is null
  and (r.versions > 1 or checked.rowid <> r.first_row);
