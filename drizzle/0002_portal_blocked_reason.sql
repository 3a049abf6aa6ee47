ALTER TABLE "portals" ADD COLUMN "blocked_reason" text;--> statement-breakpoint
ALTER TABLE "portals" ADD COLUMN "blocked_at" timestamp with time zone;