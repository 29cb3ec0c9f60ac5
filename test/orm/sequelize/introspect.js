// Sequelize's view of the schema, as the table owner without a tenant:
// `describe` prints queryInterface.describeTable() of each table as JSON;
// `sync` runs sequelize.sync({ alter: true }) with the models, which
// compares them with the tables and alters what differs.
const { sequelize } = require('./models');

(async () => {
  const qi = sequelize.getQueryInterface();
  if (process.argv[2] === 'sync') {
    const statements = [];
    await sequelize.sync({ alter: true, logging: (sql) => statements.push(sql.replace(/^Executing \(default\): /, '')) });
    console.log(JSON.stringify(statements.filter((s) => !/^SELECT /.test(s))));
  } else {
    // one line per column: table.column {type, allowNull, defaultValue, primaryKey, ...}
    const tables = (await qi.showAllTables()).filter((t) => t !== 'SequelizeMeta').sort();
    for (const t of tables) {
      const columns = await qi.describeTable(t);
      for (const c of Object.keys(columns).sort()) {
        console.log(`${t}.${c} ${JSON.stringify(columns[c])}`);
      }
    }
  }
  await sequelize.close();
})().catch(async (e) => {
  console.error(e.message);
  await sequelize.close();
  process.exit(1);
});
