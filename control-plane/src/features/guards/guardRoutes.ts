import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { deleteMeta } from '../../http/deleteMeta.js';
import { DeleteMetaQuery, responses } from '../../http/schemas.js';
import { parseOrgIdText } from '../../lib/orgId.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { GuardConfigService } from './GuardConfigService.js';
import {
  AddCorsOriginBody,
  CorsChange,
  CorsList,
  CorsOriginParams,
  LimitChange,
  LimitList,
  LimitsQuery,
  OrgLimitParams,
  SetLimitBody,
  TierLimitParams,
} from './guardSchemas.js';

export function registerGuardRoutes(fastify: FastifyInstance, guards: GuardConfigService): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/limits',
    {
      config: { auth: ALLOW.read },
      schema: {
        summary: 'Rate-limit policies: tier defaults and org overrides',
        querystring: LimitsQuery,
        response: responses({ 200: LimitList }),
      },
    },
    async (request) =>
      guards.listLimits({
        tier: request.query.tier,
        orgId: request.query.orgId === undefined ? undefined : parseOrgIdText(request.query.orgId, 'orgId'),
      }),
  );

  app.put(
    '/v1/limits/tiers/:tier/:subject/:routeClass',
    {
      config: { auth: ALLOW.guardsWrite },
      schema: {
        summary: "Set a tier's rate limit for a subject and route class (`all`: every route together)",
        params: TierLimitParams,
        body: SetLimitBody,
        response: responses({ 200: LimitChange }),
      },
    },
    async (request) => {
      const { tier, subject, routeClass } = request.params;
      return guards.setLimit(actorOf(request), { tier, subject, routeClass }, request.body);
    },
  );

  app.delete(
    '/v1/limits/tiers/:tier/:subject/:routeClass',
    {
      config: { auth: ALLOW.guardsWrite },
      schema: {
        summary: "Remove a tier's rate limit",
        params: TierLimitParams,
        querystring: DeleteMetaQuery,
        response: responses({ 200: LimitChange }),
      },
    },
    async (request) => {
      const { tier, subject, routeClass } = request.params;
      return guards.unsetLimit(actorOf(request), { tier, subject, routeClass }, deleteMeta(request));
    },
  );

  app.put(
    '/v1/limits/orgs/:orgId/:subject/:routeClass',
    {
      config: { auth: ALLOW.guardsWrite },
      schema: {
        summary: "Override one org's rate limit (the org must exist where the map routes it)",
        params: OrgLimitParams,
        body: SetLimitBody,
        response: responses({ 200: LimitChange }),
      },
    },
    async (request) => {
      const { subject, routeClass } = request.params;
      const orgId = parseOrgIdText(request.params.orgId, 'orgId');
      return guards.setLimit(actorOf(request), { orgId, subject, routeClass }, request.body);
    },
  );

  app.delete(
    '/v1/limits/orgs/:orgId/:subject/:routeClass',
    {
      config: { auth: ALLOW.guardsWrite },
      schema: {
        summary: "Remove an org's override",
        params: OrgLimitParams,
        querystring: DeleteMetaQuery,
        response: responses({ 200: LimitChange }),
      },
    },
    async (request) => {
      const { subject, routeClass } = request.params;
      const orgId = parseOrgIdText(request.params.orgId, 'orgId');
      return guards.unsetLimit(actorOf(request), { orgId, subject, routeClass }, deleteMeta(request));
    },
  );

  app.get(
    '/v1/cors',
    { config: { auth: ALLOW.read }, schema: { summary: 'The CORS allow-list', response: responses({ 200: CorsList }) } },
    async () => guards.listOrigins(),
  );

  app.post(
    '/v1/cors/origins',
    {
      config: { auth: ALLOW.guardsWrite },
      schema: { summary: 'Allow an origin (credentials included)', body: AddCorsOriginBody, response: responses({ 201: CorsChange }) },
    },
    async (request, reply) => {
      const { origin, ...meta } = request.body;
      reply.code(201);
      return guards.addOrigin(actorOf(request), origin, meta);
    },
  );

  app.delete(
    '/v1/cors/origins/:origin',
    {
      config: { auth: ALLOW.guardsWrite },
      schema: {
        summary: 'Remove an origin from the allow-list',
        params: CorsOriginParams,
        querystring: DeleteMetaQuery,
        response: responses({ 200: CorsChange }),
      },
    },
    async (request) => guards.removeOrigin(actorOf(request), request.params.origin, deleteMeta(request)),
  );
}
