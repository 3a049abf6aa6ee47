DROP INDEX "calls_portal_sip_call_uq";--> statement-breakpoint
CREATE UNIQUE INDEX "calls_portal_user_sip_call_uq" ON "calls" USING btree ("portal_id","bitrix_user_id","sip_call_id");--> statement-breakpoint
CREATE UNIQUE INDEX "calls_portal_click_to_call_uq" ON "calls" USING btree ("portal_id","sip_call_id") WHERE "calls"."sip_call_id" like 'bitrix24:%';--> statement-breakpoint
CREATE INDEX "calls_bitrix_call_idx" ON "calls" USING btree ("portal_id","bitrix_call_id");