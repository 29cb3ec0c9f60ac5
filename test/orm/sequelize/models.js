// The application's models, as after the follow-up migration when
// SEQ_STAGE=followup, before it otherwise.  deletedAt and deletedBatch are
// plain attributes: rowkeeper does the soft delete (not paranoid mode).
// The tenant column's default is the one enable_tenant_isolation() set.
const { Sequelize, DataTypes } = require('sequelize');
const config = require('./config').development;

const sequelize = new Sequelize(config.database, config.username, null, config);
const followup = process.env.SEQ_STAGE === 'followup';
const common = {
  id: { type: DataTypes.BIGINT, autoIncrement: true, primaryKey: true },
  tenantId: { type: DataTypes.BIGINT, allowNull: false,
              defaultValue: Sequelize.literal('rowkeeper.current_tenant_bigint()') },
};
const softDelete = { deletedAt: { type: DataTypes.DATE }, deletedBatch: { type: DataTypes.BIGINT } };
const User = sequelize.define('User', {
  ...common,
  [followup ? 'displayName' : 'name']: { type: DataTypes.STRING, allowNull: false },
  ...softDelete,
});
const Post = sequelize.define('Post', {
  ...common,
  title: { type: DataTypes.STRING, allowNull: false },
  ...(followup ? { body: { type: DataTypes.TEXT } } : {}),
  ...softDelete,
}, followup ? { indexes: [{ fields: ['tenantId', 'title'] }] } : {});
User.hasMany(Post, { foreignKey: { name: 'UserId', allowNull: false } });
Post.belongsTo(User, { foreignKey: { name: 'UserId', allowNull: false } });
const models = { User, Post };
if (followup) {
  const Comment = sequelize.define('Comment', { ...common, body: { type: DataTypes.TEXT } });
  User.hasMany(Comment, { foreignKey: { name: 'UserId', allowNull: false } });
  Comment.belongsTo(User, { foreignKey: { name: 'UserId', allowNull: false } });
  models.Comment = Comment;
}
module.exports = { sequelize, ...models };
