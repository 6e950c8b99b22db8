// Starts GraphiQL on the page `GET /graphql` serves (crates/server/assets/graphiql.html), against
// the endpoint the page was loaded from.
//
// A token in the address, `/graphql#token=hpt_...` (the start page's demo links: a fragment never
// reaches the server) or `/graphql?token=hpt_...`, fills the headers editor with
// `Authorization: Bearer hpt_...` and is then removed from the address bar and the history.
// Headers are not stored in the browser.
//
// GraphiQL's own introspection query nests its type references 7 deep, past the server's
// `limits.max_depth` (10): it is replaced by the same query with 3 levels, which is as deep as
// the schema's types go (`[X!]!`), and sent with the address's token.
(function () {
  'use strict';
  var INTROSPECTION =
    'query IntrospectionQuery { __schema { queryType { name } mutationType { name } ' +
    'subscriptionType { name } types { ...FullType } directives { name description locations ' +
    'args { ...InputValue } } } } ' +
    'fragment FullType on __Type { kind name description fields(includeDeprecated: true) { ' +
    'name description args { ...InputValue } type { ...TypeRef } isDeprecated ' +
    'deprecationReason } inputFields { ...InputValue } interfaces { ...TypeRef } ' +
    'enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } ' +
    'possibleTypes { ...TypeRef } } ' +
    'fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue } ' +
    'fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ' +
    'ofType { kind name } } } }';
  var fromFragment = new URLSearchParams(window.location.hash.slice(1)).get('token');
  var fromQuery = new URLSearchParams(window.location.search).get('token');
  var token = fromFragment || fromQuery;
  if (token) {
    window.history.replaceState(null, '', window.location.pathname);
  }
  var fetchGraphQL = GraphiQL.createFetcher({ url: window.location.pathname });
  var props = {
    fetcher: function (params, options) {
      if (params && params.operationName === 'IntrospectionQuery') {
        params = Object.assign({}, params, { query: INTROSPECTION });
        // GraphiQL introspects once before its headers editor exists, without its headers.
        var headers = (options && options.headers) || {};
        var named = Object.keys(headers).some(function (name) {
          return name.toLowerCase() === 'authorization';
        });
        if (token && !named) {
          headers = Object.assign({}, headers, { Authorization: 'Bearer ' + token });
          options = Object.assign({}, options, { headers: headers });
        }
      }
      return fetchGraphQL(params, options);
    },
    shouldPersistHeaders: false
  };
  if (token) {
    props.headers = JSON.stringify({ Authorization: 'Bearer ' + token }, null, 2);
    props.defaultEditorToolsVisibility = 'headers';
  }
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, props));
})();
