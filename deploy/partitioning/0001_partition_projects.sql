-- 0001: procurement_project becomes a partitioned table, LIST by region, then RANGE by the
-- year of created_at (Asia/Shanghai years). Kept OUT of the Django migration chain on purpose:
-- it is for a national deployment (docs/scale.md) and changes what the models assume.
--
-- Works on procurement_project in the first schema of search_path (current_schema()), in one
-- transaction (scripts/partition.py opens it; with psql use --single-transaction). Parameters
-- are custom settings, so the script runs unchanged from psql or from the runner:
--
--   zjcs.region      region code of the rows already there (this deployment's own), e.g. '37'
--   zjcs.regions     comma-separated region codes to create partitions for, e.g. '11,12,37'
--   zjcs.first_year  first yearly partition, e.g. 2024
--   zjcs.last_year   last yearly partition, e.g. 2027 (other years go to the region's default)
--
--   PGOPTIONS='-c zjcs.region=37 -c zjcs.regions=11,37 -c zjcs.first_year=2024 -c zjcs.last_year=2027' \
--     psql --single-transaction -v ON_ERROR_STOP=1 -f deploy/partitioning/0001_partition_projects.sql "$DATABASE_URL"
--
-- What it does, and what it cannot do for the models (docs/scale.md):
--   1. adds region varchar(6) NOT NULL, defaulting to zjcs.region, so the unchanged Django model
--      (which has no region field yet) keeps inserting, into this deployment's region;
--   2. records every foreign key that points at procurement_project in partitioning_dropped_fk
--      and drops it: a foreign key to a partitioned table must name a unique key that contains
--      the partition key (id, region, created_at), which the referencing tables do not carry yet;
--   3. builds the partitioned table (same columns, defaults and checks), one partition per
--      region, each split into yearly partitions plus a default one, and copies every row;
--   4. replaces the old table; id keeps counting from the same value (a sequence owned by the
--      column: identity columns on partitioned tables need PostgreSQL 17);
--   5. primary key (id, region, created_at); public_number unique in each yearly partition (a
--      unique index on a partitioned table must contain the partition key, so uniqueness across
--      partitions rests on the number carrying its year: PROJECT_NUMBER_PREFIX + year + id);
--   6. the other indexes and the outgoing foreign keys (owner, service type, ...) as before.

DO $partition$
DECLARE
    schema_name text := current_schema();
    own_region text := current_setting('zjcs.region');
    regions text[] := string_to_array(current_setting('zjcs.regions'), ',');
    first_year int := current_setting('zjcs.first_year')::int;
    last_year int := current_setting('zjcs.last_year')::int;
    tz text := 'Asia/Shanghai';
    old regclass := to_regclass(format('%I.procurement_project', current_schema()));
    next_id bigint;
    index_defs text[];
    outgoing text[];
    region_code text;
    year int;
    part text;
    item text;
    fk record;
BEGIN
    IF old IS NULL THEN
        RAISE EXCEPTION 'no procurement_project table in schema %', schema_name;
    END IF;
    IF (SELECT relkind FROM pg_class WHERE oid = old) = 'p' THEN
        RAISE EXCEPTION 'procurement_project in schema % is already partitioned', schema_name;
    END IF;
    IF own_region IS NULL OR own_region !~ '^[0-9]{2,6}$' THEN
        RAISE EXCEPTION 'zjcs.region must be a region code (2 to 6 digits), got %', own_region;
    END IF;
    IF NOT own_region = ANY (regions) THEN
        RAISE EXCEPTION 'zjcs.regions (%) must include zjcs.region (%)', regions, own_region;
    END IF;
    IF first_year > last_year THEN
        RAISE EXCEPTION 'zjcs.first_year % is after zjcs.last_year %', first_year, last_year;
    END IF;

    -- 1. The region column (metadata only: no rewrite of the old table).
    EXECUTE format(
        'ALTER TABLE %s ADD COLUMN region varchar(6) NOT NULL DEFAULT %L', old, own_region);

    -- What to rebuild on the new table: non-unique indexes and the outgoing foreign keys.
    SELECT coalesce(array_agg(pg_get_indexdef(i.indexrelid) ORDER BY c.relname), '{}')
      INTO index_defs
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = old AND NOT i.indisunique;
    SELECT coalesce(array_agg(format('ALTER TABLE %I.procurement_project ADD CONSTRAINT %I %s',
                                     schema_name, conname, pg_get_constraintdef(oid)) ORDER BY conname), '{}')
      INTO outgoing
      FROM pg_constraint
     WHERE conrelid = old AND contype = 'f' AND confrelid <> old;

    -- 2. Foreign keys pointing at the table (including relaunch_of_id on itself): kept, dropped.
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I.partitioning_dropped_fk ('
        ' table_name text NOT NULL, constraint_name text NOT NULL, definition text NOT NULL,'
        ' dropped_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (table_name, constraint_name))',
        schema_name);
    FOR fk IN
        SELECT format('%I.%I', n.nspname, c.relname) AS tbl, k.conname, pg_get_constraintdef(k.oid) AS def
          FROM pg_constraint k
          JOIN pg_class c ON c.oid = k.conrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE k.contype = 'f' AND k.confrelid = old ORDER BY 1, 2
    LOOP
        EXECUTE format(
            'INSERT INTO %I.partitioning_dropped_fk (table_name, constraint_name, definition) VALUES (%L, %L, %L)',
            schema_name, fk.tbl, fk.conname, fk.def);
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.conname);
    END LOOP;

    -- 3. The partitioned table and its partitions.
    EXECUTE format(
        'CREATE TABLE %I.procurement_project_partitioned (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
        ' INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY LIST (region)', schema_name, old);
    FOREACH region_code IN ARRAY regions LOOP
        IF region_code !~ '^[0-9]{2,6}$' THEN
            RAISE EXCEPTION 'bad region code % in zjcs.regions', region_code;
        END IF;
        part := format('procurement_project_r%s', region_code);
        EXECUTE format(
            'CREATE TABLE %I.%I PARTITION OF %I.procurement_project_partitioned FOR VALUES IN (%L)'
            ' PARTITION BY RANGE (created_at)', schema_name, part, schema_name, region_code);
        FOR year IN first_year .. last_year LOOP
            EXECUTE format(
                'CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
                schema_name, format('%s_y%s', part, year), schema_name, part,
                format('%s-01-01 00:00:00 %s', year, tz), format('%s-01-01 00:00:00 %s', year + 1, tz));
            -- public_number is unique within each year of each region (see 5 above).
            EXECUTE format('CREATE UNIQUE INDEX %I ON %I.%I (public_number)',
                           format('%s_y%s_number', part, year), schema_name, format('%s_y%s', part, year));
        END LOOP;
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I DEFAULT',
                       schema_name, format('%s_other', part), schema_name, part);
        EXECUTE format('CREATE UNIQUE INDEX %I ON %I.%I (public_number)',
                       format('%s_other_number', part), schema_name, format('%s_other', part));
    END LOOP;

    -- Every row moves; a row whose region has no partition stops the script here.
    EXECUTE format('INSERT INTO %I.procurement_project_partitioned SELECT * FROM %s', schema_name, old);
    EXECUTE format('SELECT coalesce(max(id), 0) + 1 FROM %s', old) INTO next_id;
    EXECUTE format('SELECT greatest(%s, coalesce(pg_sequence_last_value(pg_get_serial_sequence(%L, %L)), 0) + 1)',
                   next_id, old::text, 'id') INTO next_id;

    -- 4. Swap.
    EXECUTE format('DROP TABLE %s', old);
    EXECUTE format('ALTER TABLE %I.procurement_project_partitioned RENAME TO procurement_project', schema_name);
    EXECUTE format('CREATE SEQUENCE %I.procurement_project_id_seq AS bigint OWNED BY %I.procurement_project.id',
                   schema_name, schema_name);
    EXECUTE format('SELECT setval(%L, %s, false)', format('%I.procurement_project_id_seq', schema_name), next_id);
    EXECUTE format('ALTER TABLE %I.procurement_project ALTER COLUMN id SET DEFAULT nextval(%L::regclass)',
                   schema_name, format('%I.procurement_project_id_seq', schema_name));

    -- 5. Keys, 6. indexes and outgoing foreign keys (the saved definitions name the table,
    -- which is now the partitioned one; each index cascades to every partition).
    EXECUTE format('ALTER TABLE %I.procurement_project ADD CONSTRAINT procurement_project_pkey'
                   ' PRIMARY KEY (id, region, created_at)', schema_name);
    FOREACH item IN ARRAY index_defs LOOP
        EXECUTE item;
    END LOOP;
    EXECUTE format('CREATE INDEX procurement_project_region_created ON %I.procurement_project (region, created_at)',
                   schema_name);
    FOREACH item IN ARRAY outgoing LOOP
        EXECUTE item;
    END LOOP;
    EXECUTE format('ANALYZE %I.procurement_project', schema_name);
    RAISE NOTICE 'procurement_project in schema % partitioned by region % and years % to %',
        schema_name, regions, first_year, last_year;
END
$partition$;
