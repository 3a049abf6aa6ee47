CREATE TABLE "push_messages" (
	"portal_id" uuid NOT NULL,
	"user_id" integer NOT NULL,
	"seq" integer NOT NULL,
	"type" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "push_messages_portal_id_user_id_seq_pk" PRIMARY KEY("portal_id","user_id","seq")
);
--> statement-breakpoint
CREATE TABLE "push_presence" (
	"instance_id" text NOT NULL,
	"portal_id" uuid NOT NULL,
	"user_id" integer NOT NULL,
	"streams" integer NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "push_presence_instance_id_portal_id_user_id_pk" PRIMARY KEY("instance_id","portal_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "push_tickets" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"portal_id" uuid NOT NULL,
	"user_id" integer NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "push_users" (
	"portal_id" uuid NOT NULL,
	"user_id" integer NOT NULL,
	"last_seq" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "push_users_portal_id_user_id_pk" PRIMARY KEY("portal_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "push_messages" ADD CONSTRAINT "push_messages_portal_id_portals_id_fk" FOREIGN KEY ("portal_id") REFERENCES "public"."portals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "push_presence" ADD CONSTRAINT "push_presence_portal_id_portals_id_fk" FOREIGN KEY ("portal_id") REFERENCES "public"."portals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "push_tickets" ADD CONSTRAINT "push_tickets_portal_id_portals_id_fk" FOREIGN KEY ("portal_id") REFERENCES "public"."portals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "push_users" ADD CONSTRAINT "push_users_portal_id_portals_id_fk" FOREIGN KEY ("portal_id") REFERENCES "public"."portals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "push_messages_expires_idx" ON "push_messages" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "push_presence_user_idx" ON "push_presence" USING btree ("portal_id","user_id","seen_at");--> statement-breakpoint
CREATE INDEX "push_presence_seen_idx" ON "push_presence" USING btree ("seen_at");--> statement-breakpoint
CREATE INDEX "push_tickets_expires_idx" ON "push_tickets" USING btree ("expires_at");