-- The data contract (ARCHITECTURE.md §2). All timestamps are Moscow local time (UTC+3, no DST),
-- stored as naive TIMESTAMP. Created by oversight.store.create_schema on an empty database.

create table territories (
    territory_id integer primary key,
    code varchar not null,
    name_ru varchar not null,
    name_en varchar not null
);

create table municipalities (
    municipality_id integer primary key,
    name_ru varchar not null,
    name_en varchar not null,
    territory_id integer not null references territories,
    population integer,
    successor_id integer,
    merged_on date,
    lat double,
    lon double
);

create table organizations (
    organization_id integer primary key,
    name varchar not null,
    inn varchar,
    kind varchar not null check (kind in ('uk', 'tszh', 'rso', 'omsu', 'other')),
    municipality_id integer references municipalities
);

create table buildings (
    building_id integer primary key,
    address varchar not null,
    municipality_id integer references municipalities,
    organization_id integer references organizations,
    apartments integer,
    lat double,
    lon double,
    former_municipality_id integer
);

create table categories (
    category_id integer primary key,
    name_ru varchar not null,
    name_en varchar not null,
    normative_hours integer,
    normative_workdays integer,
    is_emergency boolean not null,
    group_code varchar
);

-- No foreign-key constraints on the big table: they slow bulk loads tenfold; the import
-- validation and the schema tests check the references instead.
create table tickets (
    ticket_id bigint not null,
    source varchar not null,
    created_at timestamp not null,
    due_at timestamp,
    closed_at timestamp,
    status varchar not null,
    category_id integer not null,
    municipality_id integer not null,
    organization_id integer,
    building_id integer,
    returned_count integer not null default 0,
    rating tinyint,
    -- The request's text as the resident wrote it. May hold personal data (names, phones): the app
    -- shows it only through oversight.privacy.mask.
    description varchar
);

-- Each return of a request for rework (возврат на доработку), when it happened. Optional: data that
-- only carry tickets.returned_count show the count without dates.
create table ticket_returns (
    ticket_id bigint not null,
    returned_at timestamp not null
);

create table events (
    event_id integer primary key,
    event_date date not null,
    kind varchar not null check (kind in ('seminar', 'inspection', 'order', 'fine', 'other')),
    title varchar not null,
    municipality_id integer,
    organization_id integer
);

create table dataset (
    as_of timestamp not null,
    source varchar not null,
    is_demo boolean not null,
    loaded_at timestamp not null
);

-- The planted story of the demo data, as data tests and docs can read (empty for real data).
create table demo_story (
    key varchar primary key,
    value varchar not null,
    note varchar
);
