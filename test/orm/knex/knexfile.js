// Connection from the environment (PGHOST, PGPORT, PGDATABASE); the role
// from KNEX_USER: the table owner runs migrations, the app role the app.
module.exports = {
  client: 'pg',
  connection: {
    host: process.env.PGHOST,
    port: Number(process.env.PGPORT),
    database: process.env.PGDATABASE,
    user: process.env.KNEX_USER,
  },
  migrations: { directory: __dirname + '/migrations' },
  pool: { min: 0, max: 2 },
};
