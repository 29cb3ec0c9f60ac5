// Connection from the environment (PGHOST, PGPORT, PGDATABASE); the role
// from TYPEORM_USER: the table owner runs the CLI, the app role the app.
const { DataSource } = require('typeorm');

module.exports = new DataSource({
  type: 'postgres',
  host: process.env.PGHOST,
  port: Number(process.env.PGPORT),
  database: process.env.PGDATABASE,
  username: process.env.TYPEORM_USER,
  entities: require('./entities'),
  migrations: [__dirname + '/migrations/*.js'],
  migrationsTableName: 'migrations',
  logging: false,
});
