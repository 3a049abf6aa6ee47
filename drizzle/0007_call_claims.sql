ALTER TABLE "calls" ADD COLUMN "claim_id" uuid;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "claimed_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "claim_taken_over" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "calls_claimed_idx" ON "calls" USING btree ("portal_id") WHERE "calls"."claim_id" is not null;--> statement-breakpoint
CREATE INDEX "calls_open_idx" ON "calls" USING btree ("started_at") WHERE "calls"."ended_at" is null;